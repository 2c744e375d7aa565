# Issuer unit tests: see issuer/.
