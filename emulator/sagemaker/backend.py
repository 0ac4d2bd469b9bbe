"""The SageMaker domain's front door: one object the control plane calls, one method per operation.

A thin facade. Each concern has its own module, named for it:

- `models.py`: models and endpoint configurations;
- `endpoints.py`: endpoints and the work behind them; their lifecycle table is `endpoint_states.py`;
- `training_jobs.py`: training jobs (the processes run in `training_runner.py`);
- `tags.py`: tags; `listing.py`: filters, sorting and NextToken for every List* call;
- `records.py`: the typed records; `tables.py`: where they live and how a change becomes durable.

Error codes and messages follow what SageMaker answers (see docs/ARCHITECTURE.md and the moto /
real-world references in the tests): missing endpoint/model/config -> ValidationException
`Could not find ... "arn"`; duplicate -> `Cannot create already existing ... "arn"`;
missing training job -> ValidationException `Requested resource not found.`; a write the
disk refuses -> InternalFailure (500) with nothing changed.
"""

from __future__ import annotations

import time
from typing import Callable

from emulator.sagemaker.artifacts import ArtifactStore
from emulator.sagemaker.config import EmulatorConfig
from emulator.sagemaker.context import Context, arn_for
from emulator.sagemaker.endpoints import EndpointService
from emulator.sagemaker.models import ModelService
from emulator.sagemaker.serving import Router
from emulator.sagemaker.store import StateStore
from emulator.sagemaker.tables import Tables
from emulator.sagemaker.tags import TagService
from emulator.sagemaker.training_jobs import ChannelCheck, TrainingJobService


class SageMakerBackend:
    def __init__(
        self,
        config: EmulatorConfig,
        store: StateStore,
        router: Router,
        artifacts: ArtifactStore,
        *,
        clock: Callable[[], float] = time.time,
        channel_check: ChannelCheck | None = None,
    ):
        self.config = config
        self.tables = Tables(store)
        self.ctx = Context(config, self.tables, clock)
        self.tags = TagService(self.ctx)
        self.models = ModelService(self.ctx, self.tags)
        self.endpoints = EndpointService(self.ctx, self.tags, self.models, router, artifacts)
        self.training_jobs = TrainingJobService(self.ctx, self.tags, channel_check)
        self.trainer = self.training_jobs.trainer

        # One bound method per SageMaker operation (control.py maps the X-Amz-Target to these).
        self.add_tags = self.tags.add_tags
        self.delete_tags = self.tags.delete_tags
        self.list_tags = self.tags.list_tags
        self.create_model = self.models.create_model
        self.describe_model = self.models.describe_model
        self.delete_model = self.models.delete_model
        self.list_models = self.models.list_models
        self.create_endpoint_config = self.models.create_endpoint_config
        self.describe_endpoint_config = self.models.describe_endpoint_config
        self.delete_endpoint_config = self.models.delete_endpoint_config
        self.list_endpoint_configs = self.models.list_endpoint_configs
        self.create_endpoint = self.endpoints.create_endpoint
        self.describe_endpoint = self.endpoints.describe_endpoint
        self.update_endpoint = self.endpoints.update_endpoint
        self.update_endpoint_weights_and_capacities = self.endpoints.update_endpoint_weights_and_capacities
        self.delete_endpoint = self.endpoints.delete_endpoint
        self.list_endpoints = self.endpoints.list_endpoints
        self.create_training_job = self.training_jobs.create_training_job
        self.describe_training_job = self.training_jobs.describe_training_job
        self.list_training_jobs = self.training_jobs.list_training_jobs
        self.stop_training_job = self.training_jobs.stop_training_job

    def arn(self, kind: str, name: str) -> str:
        return arn_for(self.config, kind, name)

    def recover(self) -> None:
        """Reload state after a start: fail interrupted jobs, finish deletes, bring endpoints back."""
        self.tables.load()
        self.training_jobs.recover()
        self.endpoints.recover()

    def close(self) -> None:
        self.tables.close()
        self.training_jobs.close()
        self.endpoints.close()

    def statuses(self) -> tuple[dict[str, str], dict[str, str]]:
        """(endpoint name -> EndpointStatus, training job name -> TrainingJobStatus), for the health route."""
        with self.tables.lock:
            return (
                {name: e.status for name, e in self.tables.endpoints.items()},
                {name: j.status for name, j in self.tables.training_jobs.items()},
            )
