"""Domain errors shared by the kernel, engines and services; the web layer maps them to HTTP."""


class NotFound(LookupError):
    """An id or code that does not exist (HTTP 404)."""


class Invalid(ValueError):
    """Input that is well-formed but breaks a rule (HTTP 400)."""


class Conflict(Invalid):
    """The operation does not fit the object's current state (HTTP 409)."""
