-- Structured facts of a ticket event (e.g. a reassignment's previous and new assignee), so the
-- timeline can say "王芳 → 刘洋" without parsing the note the operator wrote.
ALTER TABLE ticket_events ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';
