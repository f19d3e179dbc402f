"""Wiring: one Gateway object that owns the store, registry, twins, pipeline, MQTT and timers."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable

from devices import topics
from devices.vendors import codecs_for
from gateway.alerting import Alerting
from gateway.clock import Clock, SystemClock
from gateway.coherence import DeviceCoherence
from gateway.commands import Commands
from gateway.confirmations import CONFIRMATION_TTL_S, Confirmations
from gateway.decode import Decoder
from gateway.device_admin import DeviceAdmin
from gateway.device_assets import DeviceAssets
from gateway.envelope import RawMessage
from gateway.event_lane import (
    LANE,
    LANE_GENERATIONS,
    LANE_READING_KINDS,
    MAIN,
    EventCopies,
    Sessions,
)
from gateway.hub_children import HubWills, unregistered_alarm
from gateway.influx import build_influx_hook
from gateway.interactive import InteractiveGate
from gateway.metrics import GatewayMetrics
from gateway.mqtt import MqttIngest
from gateway.namespace import service_accounts
from gateway.ops_metrics import OperationsCollector
from gateway.pipeline import Pipeline
from gateway.pipeline_hook import PipelineHook, TaskJob
from gateway.provisioning import DynsecProvisioner
from gateway.registry import DeviceRegistry
from gateway.replicas import ReplicaRole
from gateway.residents import ResidentRepository
from gateway.scheduler import Scheduler
from gateway.settings import Settings
from gateway.storage.audit import AuditRepository
from gateway.storage.common import SqlStore
from gateway.storage.credentials import CredentialRepository
from gateway.storage.factory import store_for
from gateway.storage.live_channel import Fanout
from gateway.storage.ops_reads import OpsReads
from gateway.storage.tx import StoreTx
from gateway.twin import TwinTracker
from gateway.workflow.config import load_catalogue, load_rota
from gateway.workflow.outbox import OutboxSender, OutboxWorker
from gateway.workflow.service import WorkflowService

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0
REGISTRY_REFRESH_S = 30.0
COMMAND_SWEEP_S = 5.0
HUB_WILLS_S = 5.0  # how often a hub will held back is looked at again
SHED_REPORT_S = 1.0  # a device shedding a flood gets one dead letter a second, not one a message


def build_device_admin(settings: Settings, store: SqlStore, registry: DeviceRegistry,
                       clock: Clock, provisioner: DynsecProvisioner | None,
                       audit: AuditRepository,
                       heard_from: Callable[[str], bool] | None = None) -> DeviceAdmin:
    """The one device-administration service, for the running gateway and for the CLI
    (`heard_from`: the running gateway's twins, which reach the store in checkpoints)."""
    return DeviceAdmin(
        registry, clock, provisioner=provisioner, credentials=CredentialRepository(store),
        audit=audit, resident_exists=ResidentRepository(store, clock).exists,
        service_accounts=service_accounts(settings.broker, settings.provisioning),
        heard_from=heard_from or store.heard_from,
        vendor_uninstalled_max=settings.limits.vendor_uninstalled_devices,
    )


class Gateway:
    """The running service. `start()` connects; `stop()` ends cleanly; both are idempotent."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        hooks: list[PipelineHook] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.metrics = GatewayMetrics()
        # SQLite or PostgreSQL, as `database.url` says; typed as the SQLite store that the
        # rest of the wiring names (both have the same surface).
        self.store = store_for(settings)
        # Built-in codecs and dialects plus the configured folder: a bad dialect file stops
        # start-up with its file, line and field.
        self.codecs = codecs_for(settings.dialects.folder)
        self.registry = DeviceRegistry(self.store, self.clock, self.codecs)
        self.hub_wills = HubWills(self.codecs, self.registry.all, self._ack)
        self.twins = TwinTracker(
            {k: float(v) for k, v in settings.offline_timeout_s.items()},
            clock_skew=lambda d: self.alerting.clocks.skew_of(d) if self.alerting else None,
            own_timeout=self.registry.offline_timeout_of)
        self.decoder = Decoder(
            self.registry, settings.limits, auto_register_unknown=settings.auto_register_unknown,
            codecs=self.codecs,
        )
        # Built here so that an invalid rule file stops start-up before anything runs.
        self.alerting = (
            Alerting(settings, store=self.store, registry=self.registry, clock=self.clock)
            if settings.rules.enabled else None
        )
        if self.alerting is not None:
            self.alerting.hub_alarm = lambda raw: unregistered_alarm(self.decoder.codecs, raw)
        self.influx = build_influx_hook(settings, self.metrics, self.clock,
                                        OpsReads(self.store).online_by_kind_site)
        if self.influx is not None and self.alerting is not None:
            self.alerting.subscribe(self.influx.on_alert_change)
        self.provisioner = (
            DynsecProvisioner(settings.broker, settings.provisioning)
            if settings.provisioning.enabled else None
        )
        self.audit = AuditRepository(self.store)
        self.device_admin = build_device_admin(
            settings, self.store, self.registry, self.clock, self.provisioner, self.audit,
            heard_from=lambda d: self.twins.get(d) is not None or self.store.heard_from(d))
        # Our topics, and the vendor topics of the dialects (owntracks/+/+, …).
        self._filters = topics.subscriptions() + self.codecs.vendor_filters()
        replica = settings.gateway.replica_id
        # Events come on both sessions when the lane is on: the first copy is processed.
        self.copies = (EventCopies(reading_kinds=LANE_READING_KINDS)
                       if settings.broker.event_lane else None)
        self.mqtt = self._ingest(replica)
        self.event_lane = self._lane(replica) if self.copies is not None else None
        self.sessions = Sessions(self.mqtt, self.event_lane)
        self.coherence = DeviceCoherence(replica, self.metrics) if replica else None
        # Replicas: live changes reach every replica's consoles through the database.
        self.live = Fanout(settings.database.url) if replica else None
        self.replica = ReplicaRole(
            settings.gateway, replica, settings.mqtt_client_id, self.store, self.clock,
            self.metrics, adopt=self._adopt_session) if replica else None
        self.commands = Commands(
            lambda topic, body, *, expires_at, on_result: self.mqtt.publish(
                topic, body, qos=1, expires_at=expires_at, on_result=on_result),
            lambda name, job: self.pipeline.submit_task(name, job, self.clock.time()))
        self.confirmations = Confirmations(
            lambda topic, body, qos: self.mqtt.publish(
                topic, body, qos=qos,
                expires_at=self.clock.time() + CONFIRMATION_TTL_S if qos else None),
            clock_limit_s=settings.limits.clock_skew_alert_s)
        self.device_assets = DeviceAssets()
        self.interactive = InteractiveGate(share=settings.api.interactive_share)
        self.pipeline = Pipeline(
            interactive=self.interactive,
            decoder=self.decoder,
            store=self.store,
            twins=self.twins,
            metrics=self.metrics,
            clock=self.clock,
            limits=settings.limits,
            ack=self._ack,
            coherence=self.coherence,
            kind_of=self._kind_of,
            installed=self._installed,
            same_owner=self.same_owner,
            hooks=[*(hooks or []), *([self.alerting] if self.alerting else []),
                   *([self.influx] if self.influx else []), self.commands,
                   self.confirmations, self.device_assets],
        )
        for after in (self.confirmations, self.commands, self.coherence, self.registry,
                      self.device_assets):
            if after is not None:
                self.pipeline.on_commit.append(after.committed)
                self.pipeline.on_rollback.append(after.rolled_back)
        if self.alerting is not None:  # what a failed transaction observed is forgotten
            self.pipeline.on_commit.append(self.alerting.clocks.committed)
            self.pipeline.on_rollback.append(self.alerting.clocks.rolled_back)
            self.pipeline.on_commit.append(self.alerting.refusals.committed)
            self.pipeline.on_rollback.append(self.alerting.refusals.rolled_back)
        if self.coherence is not None and self.alerting is not None:
            self.alerting.join_replicas(self.coherence)
        elif self.alerting is not None:  # one process: undo a failed transaction in memory
            self.pipeline.on_commit.append(self.alerting.committed)
            self.pipeline.on_rollback.append(self.alerting.rolled_back)
        self.scheduler = Scheduler(
            self.clock, on_error=lambda name: self.metrics.task_errors.labels(name).inc()
        )
        wf = settings.workflow
        self.workflow = WorkflowService(
            wf, load_catalogue(wf.categories_file), load_rota(wf.rota_file), settings.timezone,
            ack_alert=self.alerting.ack_in_tx if self.alerting else None,
            names=self.alerting.residents.name if self.alerting else None,
            alert_name=self.alerting.alert_name if self.alerting else None,
        )
        if self.alerting is not None:
            self.alerting.subscribe(self.workflow.on_alert_change)
        self.outbox = OutboxSender(self.store, wf, self.clock)
        self.outbox_worker = OutboxWorker(
            self.outbox, self.clock,
            on_error=lambda: self.metrics.task_errors.labels("outbox").inc())
        self.operations = OperationsCollector(OpsReads(self.store), self.registry, self.twins,
                                              self.clock)
        self.metrics.registry.register(self.operations)
        self._started = False
        self._gc_frozen = False

    def pipeline_submit(self, raws: list[RawMessage]) -> None:
        """Hand messages received on the main session to the pipeline (the pipeline is built
        after the client)."""
        self._received(raws, MAIN)

    def _lane_submit(self, raws: list[RawMessage]) -> None:
        self._received(raws, LANE)

    def _held_wills(self, now: float) -> None:
        """Hand out the hub wills held back whose hold ended (gateway/hub_children.py)."""
        handed = self.hub_wills.due(now)
        if handed:
            self.pipeline.submit(handed)

    def _received(self, raws: list[RawMessage], session: int) -> None:
        raws = self.hub_wills.expand(raws)
        if self.copies is None:
            self.pipeline.submit(raws)
            return
        process, twins = self.copies.split(raws, session)
        if twins:  # their first copies are held by the other session until committed
            self.metrics.event_copies.inc(len(twins))
            self._ack(twins)
        if process:
            self.pipeline.submit(process, lane=session == LANE)

    def _ingest(self, replica: str | None, generation_base: int = 0) -> MqttIngest:
        broker = self.settings.replica_broker(replica)
        return MqttIngest(broker, self._filters, self.pipeline_submit, self.metrics, self.clock,
                          receive_maximum=self.settings.limits.queue_size,
                          generation_base=generation_base,
                          optional_filters=len(self.codecs.vendor_filters()))

    def _lane(self, replica: str | None, generation_base: int = 0) -> MqttIngest:
        broker = self.settings.replica_broker(replica).event_lane_login()
        return MqttIngest(broker, topics.lane_subscriptions(LANE_READING_KINDS),
                          self._lane_submit, self.metrics,
                          self.clock, receive_maximum=self.settings.limits.queue_size,
                          generation_base=generation_base + LANE_GENERATIONS, lane=True)

    def _adopt_session(self, replica: str, generation_base: int) -> Sessions:
        sessions = Sessions(
            self._ingest(replica, generation_base),
            self._lane(replica, generation_base) if self.copies is not None else None)
        sessions.start()
        return sessions

    def _ack(self, raws: list[RawMessage]) -> None:
        # Each client acks the messages of its own connection (generations never overlap).
        self.sessions.ack_many(raws)
        if self.replica is not None:
            for adopted in list(self.replica.adopted.values()):
                adopted.ack_many(raws)

    def _installed(self, device_id: str) -> bool:
        record = self.registry.get(device_id)
        return record is not None and record.installed

    def same_owner(self, device_id: str, other: str) -> bool:
        """Whether two devices may have one owner: the same vendor account registered both,
        or neither was registered through a vendor account (a device staff registered is
        nobody's to name: a vendor registering its IMEI had its queues refused)."""
        credentials = CredentialRepository(self.store)
        mine, theirs = credentials.get(device_id), credentials.get(other)
        if mine is None or theirs is None:
            return mine is None and theirs is None
        return mine.vendor == theirs.vendor

    def _kind_of(self, device_id: str) -> str | None:
        record = self.registry.get(device_id)
        return record.kind if record is not None else None

    def schedule_tx(self, name: str, interval_s: float, job: TaskJob, *,
                    once: bool = False) -> None:
        """Run `job(now, tx)` every `interval_s` on the pipeline thread, in its own
        transaction; `once`: on one replica only (the timers' lease holder)."""
        role = self.replica
        if once and role is not None:
            inner = job

            def job(now: float, tx: StoreTx) -> None:
                if role.holds_timers(tx, now):
                    inner(now, tx)

            def submit(now: float) -> None:
                if role.leading(now):
                    self.pipeline.submit_task(name, job, now)
        else:
            def submit(now: float) -> None:
                self.pipeline.submit_task(name, job, now)
        self.scheduler.every(name, interval_s, submit)

    def start(self, *, connect: bool = True) -> None:
        """Load state, start the pipeline and timers, and connect to the broker."""
        if self._started:
            return
        if self.coherence is not None:
            with self.store.transaction() as tx:
                self.coherence.start(tx)  # before the state: see DeviceCoherence.start
        devices = self.registry.load()
        self.twins.load(self.store.load_twins(), {d.id: d.kind for d in self.registry.all()})
        self.pipeline.dedup.load(self.store.load_windows())
        log.info("loaded state", extra={"devices": devices, "schema": self.store.schema_version})
        if self.alerting is not None:
            self.alerting.start(self.pipeline, lambda: self.mqtt.connected)
            self.schedule_tx("rules_tick", self.settings.rules.tick_s, self.alerting.tick,
                             once=True)
        if self.influx is not None:
            self.influx.start()
        self.pipeline.start()
        self.schedule_tx("workflow_tick", self.settings.workflow.tick_s, self.workflow.tick,
                         once=True)
        self.schedule_tx("command_timeouts", COMMAND_SWEEP_S, self.commands.expire)
        if self.pipeline.budget.enabled:
            self.scheduler.every("shed_report", SHED_REPORT_S, self.pipeline.submit_shed_report)
        self.scheduler.every("hub_wills", HUB_WILLS_S, self._held_wills)
        # Network I/O: on a thread of its own, never on the pipeline's or the scheduler's.
        self.outbox_worker.start()
        self.scheduler.every("outbox", self.settings.workflow.outbox_retry_first_s,
                             self._deliver_outbox)
        self.schedule_tx(
            "offline_sweep", self.settings.offline_sweep_s, self.pipeline.presence.sweep,
            once=True)
        self.schedule_tx("twin_checkpoint", self.settings.database.twin_checkpoint_s,
                         self.pipeline.checkpoint_twins)
        self.schedule_tx("retention", RETENTION_EVERY_S, self._prune, once=True)
        self.schedule_tx("registry_refresh", REGISTRY_REFRESH_S, self._refresh_registry)
        if self.replica is not None:
            wait = self.replica.announce()
            if wait:
                threading.Event().wait(wait)  # a survivor holding our session lets go first
            self.replica.beat(self.clock.time())
            self.scheduler.every("replica_heartbeat", self.settings.gateway.heartbeat_s,
                                 self.replica.beat)
        self.scheduler.start()
        self._tune_gc()
        if connect:
            self.sessions.start()
        self._started = True

    def _deliver_outbox(self, now: float) -> None:
        if self.replica is None or self.replica.leading(now):
            self.outbox_worker.kick(now)

    def _tune_gc(self) -> None:
        # The registry, twins and rule state loaded above live as long as the process, and
        # the cyclic collector re-scanned them every 700 allocations: about a tenth of the
        # pipeline's CPU. Freezing them and collecting the young generation less often
        # removes that; messages are freed by reference counting, not by the collector.
        threshold = self.settings.limits.gc_threshold
        if threshold:
            gc.collect()
            gc.freeze()
            _, gen1, gen2 = gc.get_threshold()
            gc.set_threshold(threshold, gen1, gen2)
            self._gc_frozen = True

    def stop(self) -> None:
        """Disconnect, finish queued work, close the database."""
        if not self._started:
            return
        if self._gc_frozen:
            gc.unfreeze()  # what this gateway held may now become garbage like anything else
            self._gc_frozen = False
        self.sessions.stop()
        if self.replica is not None:
            self.replica.stop()
        if self.live is not None:
            self.live.stop()
        if self.provisioner is not None:
            self.provisioner.close()
        self.scheduler.stop()
        self.outbox_worker.stop(self.settings.workflow.hotline_timeout_s + 1)
        self.pipeline.stop()
        # The pipeline thread is gone: the last twins are written from here.
        with self.store.transaction() as tx:
            self.pipeline.flush_twins(tx)
        if self.influx is not None:
            self.influx.stop()  # after the pipeline: nothing may be added to a closed buffer
        self.store.close()
        self._started = False

    def _prune(self, now: float, tx: StoreTx) -> None:
        db = self.settings.database
        counts = self.store.prune(
            tx,
            telemetry_before=now - db.telemetry_retention_days * 86_400,
            dead_before=now - db.dead_letter_retention_days * 86_400,
        )
        counts["sign_in_attempts"] = tx.sign_ins.prune(
            now - db.sign_in_retention_days * 86_400)
        if any(counts.values()):
            log.info("retention pruned rows", extra=counts)

    def _refresh_registry(self, now: float, tx: StoreTx) -> None:
        changed = self.registry.refresh()
        if changed:
            log.info("registry refreshed", extra={"changed": changed})
