"""Worker processes: long jobs (load, pass, verify, profile) run in a child that talks JSON lines."""
