"""The self-service kiosk (PySide6): screens as a Qt-free state machine (machine.py), their
widgets (screens.py), the controller and window (app.py), device threads (hardware.py) and
the durable outbox (outbox.py). Run it with `python -m kiosk`."""
