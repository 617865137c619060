"""The photospicker v1 discovery document bundled with picker-discovery (data only)."""
