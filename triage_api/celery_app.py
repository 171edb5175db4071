"""The Celery application: embedded filesystem broker by default, Redis for scale-out.

Browser work goes to the `capture` queue, CPU work to `analysis`, so each can get its own workers;
sweeps to `sweep`, whose tasks last hours and must not hold the others' worker slots.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.schedules import crontab

from triage_api.config import Settings, get_settings

CAPTURE_QUEUE = "capture"
ANALYSIS_QUEUE = "analysis"
SWEEP_QUEUE = "sweep"  # hours-long tasks: a worker of its own (`hotline worker -Q sweep`)


def celery_config(settings: Settings) -> dict[str, Any]:
    transport: dict[str, Any] = {"visibility_timeout": settings.visibility_timeout_s}
    if settings.embedded_broker:
        folder = settings.broker_dir
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        transport = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": 0.2,
        }
    return {
        "broker_url": settings.celery_broker_url,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "result_backend": None,
        "task_time_limit": settings.task_hard_limit_s,
        "task_default_queue": ANALYSIS_QUEUE,
        "task_routes": {
            "hotline.capture": {"queue": CAPTURE_QUEUE},
            "hotline.recheck_full": {"queue": CAPTURE_QUEUE},
            "hotline.sweep_work": {"queue": SWEEP_QUEUE},
        },
        "worker_enable_remote_control": not settings.embedded_broker,
        "worker_send_task_events": False,
        "worker_hijack_root_logger": False,
        "worker_max_tasks_per_child": 200,
        "beat_schedule": {
            "reconcile": {"task": "hotline.reconcile", "schedule": settings.reconcile_every_s},
            "audit-seal": {"task": "hotline.audit_seal", "schedule": settings.audit_seal_every_s},
            "takedown-tick": {"task": "hotline.takedown_tick", "schedule": settings.recheck_tick_s},
            **_nightly_sweep(settings),
        },
        "beat_schedule_filename": str(settings.resolved_data_dir / "celerybeat-schedule"),
        "timezone": "UTC",
    }


def _nightly_sweep(settings: Settings) -> dict[str, Any]:
    if not settings.sweep_at_utc:
        return {}
    hour, minute = settings.sweep_at_utc.split(":")
    return {
        "nightly-sweep": {
            "task": "hotline.sweep_nightly",
            "schedule": crontab(hour=int(hour), minute=int(minute)),
        }
    }


def make_app(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    app = Celery("hotline", include=["triage_api.tasks"])
    app.conf.update(celery_config(settings))
    return app


app = make_app()
