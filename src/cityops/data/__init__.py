"""Run-time data shipped with CityOps (boundaries, catalogues); each folder notes its source."""
