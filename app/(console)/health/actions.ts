"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { adminAction } from "@/lib/auth";
import { runDoctorAndKeep } from "@/lib/doctor";

/** "Run checks again": admins only; the page then shows the new report. */
export const rerunChecksAction = adminAction(z.object({}), async () => {
  await runDoctorAndKeep();
  revalidatePath("/health");
});
