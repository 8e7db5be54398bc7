-- A comparison group's tasks keep the order their agents were named in.
-- created_at cannot carry it: on the embedded database clock_timestamp() can
-- return the same instant for tasks inserted one after another, and the
-- random ids then decide the order.
ALTER TABLE tasks ADD COLUMN group_position smallint;

UPDATE tasks t
   SET group_position = g.position
  FROM (SELECT id, (row_number() OVER (PARTITION BY group_id ORDER BY created_at, id) - 1) AS position
          FROM tasks WHERE group_id IS NOT NULL) g
 WHERE t.id = g.id;
