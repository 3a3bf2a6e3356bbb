-- The list's keyset pagination ("createdAt" DESC, id DESC) and its filters, served by indexes (issue 16 item 2).
-- DropIndex
DROP INDEX "backup_records_createdAt_idx";

-- CreateIndex
CREATE INDEX "backup_records_createdAt_id_idx" ON "backup_records"("createdAt", "id");

-- CreateIndex
CREATE INDEX "backup_records_status_createdAt_id_idx" ON "backup_records"("status", "createdAt", "id");

-- CreateIndex
CREATE INDEX "backup_records_type_createdAt_id_idx" ON "backup_records"("type", "createdAt", "id");

-- CreateIndex
CREATE INDEX "backup_records_pinned_createdAt_id_idx" ON "backup_records"("pinned", "createdAt", "id");

-- CreateIndex
CREATE INDEX "backup_records_labels_idx" ON "backup_records" USING GIN ("labels");
