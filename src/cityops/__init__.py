"""CityOps: an Intelligent Operations Center for a Vietnamese province."""

__version__ = "0.1.0"
