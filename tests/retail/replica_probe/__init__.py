"""Test only: a tool that tells which server answered a tenant read (test_replicas.py)."""
