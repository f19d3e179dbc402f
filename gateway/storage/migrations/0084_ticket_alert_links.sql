-- An alert may belong to more than one ticket over its life: an SOS pressed again after its
-- job was closed opens a new job for the same (still open) alert episode, and the closed job
-- keeps its link. The newest link (the highest ticket id) is the alert's live job.
CREATE TABLE ticket_alert_links (
    alert_id  INTEGER NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    linked_at REAL NOT NULL,
    PRIMARY KEY (alert_id, ticket_id)
);
INSERT INTO ticket_alert_links (alert_id, ticket_id, linked_at)
    SELECT alert_id, ticket_id, linked_at FROM ticket_alerts;
DROP TABLE ticket_alerts;
ALTER TABLE ticket_alert_links RENAME TO ticket_alerts;
CREATE INDEX ticket_alerts_ticket ON ticket_alerts (ticket_id);
