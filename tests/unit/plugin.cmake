# Plugin unit tests: see plugin/.
