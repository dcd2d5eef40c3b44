import { useState, type FormEvent } from "react";
import { ApiError, describeError } from "@/api/errors";
import { Button } from "@/components/ui/button";
import { InputField } from "@/components/ui/field";
import { useSignIn } from "../hooks/use-sign-in";

export function SignInPage() {
  const [token, setToken] = useState("");
  const signIn = useSignIn();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = token.trim();
    if (value) signIn.mutate(value);
  };

  const error = signIn.error instanceof ApiError && signIn.error.unauthorized
    ? "This token was not accepted. Check it and try again."
    : signIn.error ? describeError(signIn.error) : undefined;

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <form onSubmit={submit} aria-labelledby="sign-in-title"
        className="flex w-full max-w-sm flex-col gap-4 rounded-xl border border-slate-800 bg-slate-900/70 p-6">
        <div>
          <h1 id="sign-in-title" className="text-xl font-semibold">Sign in to Hewston</h1>
          <p className="mt-1 text-sm text-slate-400">
            Use your API token. It is kept in this tab only and forgotten when the tab closes.
          </p>
        </div>
        <InputField label="API token" name="token" type="password" autoComplete="off" autoFocus required
          value={token} onChange={(e) => setToken(e.target.value)} error={error}
          hint={<>The demo tokens that <code>make run</code> prints work, e.g. <code>hw_demo_alice</code>.</>} />
        <Button type="submit" variant="primary" disabled={signIn.isPending || !token.trim()}>
          {signIn.isPending ? "Checking…" : "Sign in"}
        </Button>
      </form>
    </main>
  );
}
