"""What the hall's Qt apps share: the MQTT link as Qt signals, the 适老化 theme, screenshots."""
