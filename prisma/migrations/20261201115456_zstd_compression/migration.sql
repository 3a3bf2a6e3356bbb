-- CreateEnum
CREATE TYPE "BackupCompression" AS ENUM ('gzip', 'zstd');

-- AlterTable
ALTER TABLE "backup_schedules" ADD COLUMN     "compression" "BackupCompression" NOT NULL DEFAULT 'gzip';
