import { useEffect, useState } from "preact/hooks";

/** A page of the console, as named by the URL's hash, so links and the back button work. */
export type Route =
  | { page: "overview" }
  | { page: "customers"; query: string }
  | { page: "tenant"; tenantId: string }
  | { page: "webhooks" };

/** The hash of a route, for links. */
export function hrefOf(route: Route): string {
  switch (route.page) {
    case "overview":
      return "#/";
    case "customers":
      return route.query === ""
        ? "#/customers"
        : `#/customers?q=${encodeURIComponent(route.query)}`;
    case "tenant":
      return `#/tenants/${encodeURIComponent(route.tenantId)}`;
    case "webhooks":
      return "#/webhooks";
  }
}

function parse(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter((part) => part !== "");
  if (parts[0] === "customers") {
    return { page: "customers", query: new URLSearchParams(search).get("q") ?? "" };
  }
  if (parts[0] === "tenants" && parts[1] !== undefined) {
    return { page: "tenant", tenantId: decodeURIComponent(parts[1]) };
  }
  if (parts[0] === "webhooks") return { page: "webhooks" };
  return { page: "overview" };
}

/** The current route, following hash changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parse(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
