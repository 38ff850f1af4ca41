"""The unified alert center: alerts, warning tickets, incidents, SLA, escalation, notifications.

A shared engine: every service raises its alerts through :mod:`cityops.alerts.service`.
"""
