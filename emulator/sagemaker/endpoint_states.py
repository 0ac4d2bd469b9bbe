"""The endpoint lifecycle, as one table: open this file to change how an endpoint's status moves.

    event            from                               to
    ---------------  ---------------------------------  -------------------------------
    create           (none)                             Creating
    deployed         Creating, Updating                 InService
    deploy_failed    Creating                           Failed
    deploy_failed    Updating                           InService (rolled back, FailureReason set)
    update           InService                          Updating   (UpdateEndpoint)
    update_weights   InService                          Updating   (UpdateEndpointWeightsAndCapacities)
    delete           InService, Failed                  Deleting
    delete           Deleting                           Deleting   (a repeated DeleteEndpoint is a no-op)
    deleted          Deleting                           (gone)
    restore_failed   InService, Creating, Updating      Failed     (the model cannot be loaded after a restart)

Any other (event, status) pair is refused with the message SageMaker gives (`refusal`).
`endpoints.py` changes a status only through `next_status`, so this table is the whole
lifecycle; the rest of that module is the work each transition starts.
"""

from __future__ import annotations

from emulator.sagemaker.errors import ValidationException

CREATING, UPDATING, IN_SERVICE, DELETING, FAILED = "Creating", "Updating", "InService", "Deleting", "Failed"
SYSTEM_UPDATING, ROLLING_BACK = "SystemUpdating", "RollingBack"  # SageMaker's own, never entered here
GONE = None  # the endpoint no longer exists

# Statuses in which work is under way: UpdateEndpoint and DeleteEndpoint are refused.
IN_PROGRESS = frozenset({CREATING, UPDATING, SYSTEM_UPDATING, ROLLING_BACK})
# Statuses whose instances count against the account's quotas.
HOLDS_INSTANCES = frozenset({CREATING, UPDATING, SYSTEM_UPDATING, ROLLING_BACK, IN_SERVICE})

CREATE, DEPLOYED, DEPLOY_FAILED = "create", "deployed", "deploy_failed"
UPDATE, UPDATE_WEIGHTS, DELETE, DELETED, RESTORE_FAILED = "update", "update_weights", "delete", "deleted", "restore_failed"

TRANSITIONS: dict[str, dict[str | None, str | None]] = {
    CREATE: {None: CREATING},
    DEPLOYED: {CREATING: IN_SERVICE, UPDATING: IN_SERVICE, SYSTEM_UPDATING: IN_SERVICE, ROLLING_BACK: IN_SERVICE},
    DEPLOY_FAILED: {CREATING: FAILED, UPDATING: IN_SERVICE, SYSTEM_UPDATING: IN_SERVICE, ROLLING_BACK: IN_SERVICE},
    UPDATE: {IN_SERVICE: UPDATING},
    UPDATE_WEIGHTS: {IN_SERVICE: UPDATING},
    DELETE: {IN_SERVICE: DELETING, FAILED: DELETING, DELETING: DELETING},
    DELETED: {DELETING: GONE},
    RESTORE_FAILED: {IN_SERVICE: FAILED, CREATING: FAILED, UPDATING: FAILED, SYSTEM_UPDATING: FAILED, ROLLING_BACK: FAILED},
}


def allowed(event: str, status: str | None) -> bool:
    return status in TRANSITIONS[event]


def next_status(event: str, status: str | None, arn: str = "") -> str | None:
    """The status `event` moves an endpoint in `status` to; raises SageMaker's refusal otherwise."""
    table = TRANSITIONS[event]
    if status not in table:
        raise refusal(event, status, arn)
    return table[status]


def refusal(event: str, status: str | None, arn: str) -> ValidationException:
    """What SageMaker answers when a request meets an endpoint in a status that forbids it."""
    if event == UPDATE and status == FAILED:
        return ValidationException(f'Cannot update failed endpoint "{arn}". Delete it and create it again.')
    if event == UPDATE_WEIGHTS and status == FAILED:
        return ValidationException(f'Cannot update failed endpoint "{arn}".')
    return ValidationException(f'Cannot update in-progress endpoint "{arn}".')
