"""The Đắk Lắk demo: real communes and boundaries, real-named agencies, demo users."""
