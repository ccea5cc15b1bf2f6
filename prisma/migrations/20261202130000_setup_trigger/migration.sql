-- AlterEnum
ALTER TYPE "RunTrigger" ADD VALUE 'SETUP';
