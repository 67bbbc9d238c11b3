"""Boards (窗口屏, 综合屏) and the hall's voice: MQTT clients that only show and say."""
