"""Small WSGI applications for the tests that run a real gunicorn."""


def small_answer(environ, start_response):
    body = b'{"ok": true}'
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def large_answer(environ, start_response):
    """200 KB in 50 chunks, each chunk's bytes its index."""
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", "204800")],
    )
    return (bytes([index]) * 4096 for index in range(50))
