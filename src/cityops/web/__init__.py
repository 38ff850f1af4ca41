"""The web layer: FastAPI app factory, API routers, server-rendered views."""
