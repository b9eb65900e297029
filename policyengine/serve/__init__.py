"""`policyengine serve`: the decision service (our JSON API and Trino's OPA plugin API) over HTTP."""
