import NextAuth from "next-auth";
import { authOptions } from "@/lib/auth";

function handler(request: Request, context: { params: Promise<{ nextauth: string[] }> }) {
  // next-auth 4 types the App Router handler's result as `any`; it resolves to the Response.
  return NextAuth(request as never, context as never, authOptions()) as Promise<Response>;
}

export { handler as GET, handler as POST };
