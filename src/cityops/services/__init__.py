"""Domain services of CityOps (SOC, …)."""
