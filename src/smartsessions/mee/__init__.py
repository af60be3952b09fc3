"""The MEE node protocol: quote hashing and signature formats (pure); the HTTP client comes in a later layer."""
