"""The Gusto sandbox's routes, one module per group (see `gusto/app.py` for the dispatch):

- `oauth`: authorize, token, revoke, token_info
- `company`: company, employees, departments, locations, pay schedules, contractors and
  contractor payments
- `payrolls`: payroll list, one payroll, pay periods
- `webhooks`: webhook subscriptions, their verification, events
- `admin`: the `/_sandbox/...` routes (not Gusto's)

Shared helpers, one place each: `base` (state, context, query parameters, pagination),
`access` (API version, bearer token, rate limit, company ownership), `inject` (fault
injection); errors are `http_types`, money `money` and `render`.
"""
