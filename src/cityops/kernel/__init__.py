"""The kernel: configuration, database, org model, users and permissions, audit,
calendar, events, scheduler and the service registry. It never imports a service."""
