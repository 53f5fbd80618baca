import { Code } from "@connectrpc/connect";
import { useEffect, useState } from "preact/hooks";
import { type Api, createApi, describeError, hasCode, storedKey, storeKey } from "./api.js";
import { CustomersPage } from "./pages/customers.js";
import { OverviewPage } from "./pages/overview.js";
import { SignIn } from "./pages/sign-in.js";
import { TenantPage } from "./pages/tenant.js";
import { WebhooksPage } from "./pages/webhooks.js";
import { hrefOf, type Route, useRoute } from "./route.js";

type Session =
  | { status: "checking" }
  | { status: "signed-out"; message: string | undefined }
  | { status: "ready"; api: Api; open: boolean };

/**
 * Works out who the console is for by making an admin call: with no key, success means the
 * server is in open mode; with a key, Unauthenticated and PermissionDenied say what is wrong
 * with it. The server decides; the console only reports what it answered.
 */
async function probe(key: string | undefined): Promise<Session> {
  const api = createApi(key);
  try {
    await api.billing.countCustomers({});
    return { status: "ready", api, open: key === undefined };
  } catch (error) {
    storeKey(undefined);
    if (key === undefined && hasCode(error, Code.Unauthenticated)) {
      return { status: "signed-out", message: undefined };
    }
    if (hasCode(error, Code.PermissionDenied)) {
      return {
        status: "signed-out",
        message:
          "That is a tenant key. The console needs an admin key (one made without --tenant).",
      };
    }
    if (hasCode(error, Code.Unauthenticated)) {
      return {
        status: "signed-out",
        message: "That key was not accepted: it is unknown or revoked.",
      };
    }
    return {
      status: "signed-out",
      message: `The server did not answer as expected. ${describeError(error)}`,
    };
  }
}

export function App() {
  const [session, setSession] = useState<Session>({ status: "checking" });
  const route = useRoute();
  useEffect(() => {
    void probe(storedKey()).then(setSession);
  }, []);

  if (session.status === "checking") return <p class="checking">Connecting…</p>;
  if (session.status === "signed-out") {
    return (
      <SignIn
        message={session.message}
        onKey={(key) => {
          storeKey(key);
          setSession({ status: "checking" });
          void probe(key).then(setSession);
        }}
      />
    );
  }
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Header
        route={route}
        open={session.open}
        onSignOut={() => {
          storeKey(undefined);
          setSession({ status: "signed-out", message: undefined });
        }}
      />
      {session.open && (
        <p class="banner" role="status">
          Open mode: this server has no API keys and listens on loopback only, so it accepts every
          call without a key. Create a key before exposing it.
        </p>
      )}
      <main id="main" tabIndex={-1}>
        <Page route={route} api={session.api} />
      </main>
    </>
  );
}

function Page({ route, api }: { route: Route; api: Api }) {
  switch (route.page) {
    case "overview":
      return <OverviewPage api={api} />;
    case "customers":
      return <CustomersPage api={api} query={route.query} />;
    case "tenant":
      return <TenantPage api={api} tenantId={route.tenantId} />;
    case "webhooks":
      return <WebhooksPage api={api} />;
  }
}

function Header(props: { route: Route; open: boolean; onSignOut(): void }) {
  const [query, setQuery] = useState("");
  const links: { route: Route; label: string }[] = [
    { route: { page: "overview" }, label: "Overview" },
    { route: { page: "customers", query: "" }, label: "Customers" },
    { route: { page: "webhooks" }, label: "Webhooks" },
  ];
  return (
    <header class="top">
      <span class="brand">Tollgate</span>
      <nav aria-label="Console">
        {links.map((link) => (
          <a
            key={link.label}
            href={hrefOf(link.route)}
            aria-current={props.route.page === link.route.page ? "page" : undefined}
          >
            {link.label}
          </a>
        ))}
      </nav>
      <search>
        <form
          class="top-search"
          onSubmit={(event) => {
            event.preventDefault();
            window.location.hash = hrefOf({ page: "customers", query: query.trim() });
          }}
        >
          <label for="top-search" class="visually-hidden">
            Find a customer by tenant id, customer id or email
          </label>
          <input
            id="top-search"
            type="search"
            placeholder="Find a customer"
            value={query}
            onInput={(event) => setQuery(event.currentTarget.value)}
          />
          <button type="submit">Find</button>
        </form>
      </search>
      {!props.open && (
        <button type="button" class="link" onClick={props.onSignOut}>
          Sign out
        </button>
      )}
    </header>
  );
}
