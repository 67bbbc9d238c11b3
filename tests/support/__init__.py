"""Test helpers shared by the whole suite (a real broker: tests.support.broker)."""
