-- CreateEnum
CREATE TYPE "DrillFrequency" AS ENUM ('disabled', 'daily', 'weekly', 'monthly');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "OperationKind" ADD VALUE 'drill';
ALTER TYPE "OperationKind" ADD VALUE 'undo';
ALTER TYPE "OperationKind" ADD VALUE 'preview';
ALTER TYPE "OperationKind" ADD VALUE 'entity-restore';
ALTER TYPE "OperationKind" ADD VALUE 'rekey';

-- AlterTable
ALTER TABLE "backup_records" ADD COLUMN     "encryptionKeyId" TEXT,
ADD COLUMN     "labels" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "pinNote" TEXT,
ADD COLUMN     "pinned" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "pinnedAt" TIMESTAMPTZ(6),
ADD COLUMN     "pinnedBy" TEXT,
ADD COLUMN     "verifiedAt" TIMESTAMPTZ(6);

-- AlterTable
ALTER TABLE "backup_schedules" ADD COLUMN     "drillFrequency" "DrillFrequency" NOT NULL DEFAULT 'weekly',
ADD COLUMN     "keepDaily" INTEGER,
ADD COLUMN     "keepMonthly" INTEGER,
ADD COLUMN     "keepWeekly" INTEGER,
ADD COLUMN     "keepYearly" INTEGER,
ADD COLUMN     "maxTotalSizeMb" INTEGER;

-- AlterTable
ALTER TABLE "operations" ADD COLUMN     "restorePoint" TEXT,
ADD COLUMN     "restorePointBytes" BIGINT,
ADD COLUMN     "restorePointDroppedAt" TIMESTAMPTZ(6),
ADD COLUMN     "undoUntil" TIMESTAMPTZ(6);

-- CreateTable
CREATE TABLE "alert_states" (
    "key" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "raisedAt" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolvedAt" TIMESTAMPTZ(6),
    "lastSentAt" TIMESTAMPTZ(6),
    "updatedAt" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_states_pkey" PRIMARY KEY ("key")
);
