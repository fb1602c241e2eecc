-- wrk script: create an article through the API with every request.
-- The Authorization and Host headers come from wrk's -H options.
wrk.method = "POST"
wrk.body = '{"title": "Written under load", "body": "Text of an article written under load."}'
wrk.headers["Content-Type"] = "application/json"
