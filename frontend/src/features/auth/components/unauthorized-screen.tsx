import { Button } from "@/components/ui/button";
import { session } from "@/lib/session";

/** Shown instead of any page once the server refused the session's token (401). */
export function UnauthorizedScreen() {
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <section role="alert" aria-labelledby="unauthorized-title"
        className="flex max-w-md flex-col gap-3 rounded-xl border border-rose-900 bg-slate-900/70 p-6">
        <h1 id="unauthorized-title" className="text-xl font-semibold text-rose-200">Your token is not accepted</h1>
        <p className="text-sm text-slate-300">
          The server answered 401: the token is missing, mistyped, or no longer valid. Nothing was changed.
          Sign in again with a valid token to continue.
        </p>
        <Button variant="primary" onClick={() => session.signOut()}>Sign in again</Button>
      </section>
    </main>
  );
}
