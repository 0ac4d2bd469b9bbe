"""One deploy unit per deployed resource (docs/ARCHITECTURE.md, "Deploy"); deploy/stack.py orders them.

base.py holds the verbs every unit answers and the context they share; each other module is
one resource: storage (bucket, channels), roles, training_job, model, endpoint_config,
endpoint, log_group, function, rest_api, permission, usage_plan (plan and key).
"""
