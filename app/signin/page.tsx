import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { z } from "zod";
import { SignInButton } from "@/components/shell/SignInButton";
import { currentUser, returnPath } from "@/lib/auth";

export const metadata: Metadata = { title: "Sign in" };

/** The query string as next-auth sends it back; anything else (a repeated or odd parameter) is ignored. */
const signInParams = z.object({
  error: z.string().optional().catch(undefined),
  callbackUrl: z.string().optional().catch(undefined),
});

const errors: Record<string, string> = {
  OAuthCallback: "Microsoft sign-in did not complete. Try again.",
  OAuthSignin: "Could not reach the Microsoft sign-in page. Check ENTRA_AUTHORITY_HOST and ENTRA_TENANT_ID.",
  AccessDenied: "Sign-in was refused: your account is not in the Microsoft 365 organisation this connector serves.",
};

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { error, callbackUrl } = signInParams.parse(await searchParams);
  if (await currentUser()) redirect("/connectors");
  const target = returnPath(callbackUrl);
  return (
    <main className="flex min-h-screen items-center justify-center p-6">
      <div className="border-line w-full max-w-sm rounded-lg border bg-white p-8 shadow-sm">
        <h1 className="text-xl font-semibold">Symphony archive connector</h1>
        <p className="text-muted mt-2">
          Sign in with your Microsoft 365 work account. You need the connector reader app role to look at connectors,
          and the connector admin role to create or change them.
        </p>
        {error && (
          <p role="alert" className="mt-4 rounded border border-red-300 bg-red-50 p-3 text-red-800">
            {(Object.hasOwn(errors, error) && errors[error]) || "Sign-in failed. Try again."}
          </p>
        )}
        <div className="mt-6">
          <SignInButton callbackUrl={target} />
        </div>
      </div>
    </main>
  );
}
