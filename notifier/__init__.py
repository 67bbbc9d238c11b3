"""SMS notices for residents who gave a phone number: 前面还有 N 人, 请到 X 号窗口."""
