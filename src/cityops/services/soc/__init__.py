"""Security operations centre (SOC) service."""
