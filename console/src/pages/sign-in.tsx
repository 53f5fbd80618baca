import { useState } from "preact/hooks";

/**
 * Asks for an admin API key. The key stays in this tab's sessionStorage and goes only to this
 * server, as the bearer token of each call.
 */
export function SignIn(props: { message: string | undefined; onKey(key: string): void }) {
  const [key, setKey] = useState("");
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to the Tollgate console</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (key.trim() !== "") props.onKey(key.trim());
        }}
      >
        <label for="api-key">Admin API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          aria-describedby="api-key-hint"
        />
        <p id="api-key-hint" class="hint">
          Create one with <code>tollgate keys create --description console</code> (no{" "}
          <code>--tenant</code>). It is kept in this tab only and sent to this server alone.
        </p>
        {props.message !== undefined && (
          <p class="error" role="alert">
            {props.message}
          </p>
        )}
        <button type="submit" class="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}
