"""The HTTP and WebSocket adapters: the Starlette app, the socket pump, the JSON API, the pages and the
uvicorn guards."""
