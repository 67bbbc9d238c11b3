"""Turning a hall config into what runs the hall: broker config, credentials and ACL.

`python -m provisioning hall --config assets/halls/demo.toml --out DIR --listen HOST:PORT`
(see provisioning.broker). Other provisioning (udev rules, systemd units, kiosk
lock-down) lives in its own modules and subcommands.
"""
