# Plugin integration tests (named + nsupdate + dig).
