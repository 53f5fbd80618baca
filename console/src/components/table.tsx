import type { ComponentChildren } from "preact";

/** A column heading: its text, right-aligned figures, or read only by screen readers. */
export interface Column {
  label: string;
  numeric?: boolean;
  hidden?: boolean;
}

/**
 * A table that scrolls sideways inside its card on narrow screens, with a sentence in its
 * place when there are no rows, so every list on every page reads the same way.
 */
export function Table(props: {
  columns: (string | Column)[];
  rowCount: number;
  empty: string;
  caption?: ComponentChildren;
  foot?: ComponentChildren;
  children: ComponentChildren;
}) {
  if (props.rowCount === 0) return <p>{props.empty}</p>;
  return (
    <div class="scroll">
      <table>
        {props.caption !== undefined && <caption>{props.caption}</caption>}
        <thead>
          <tr>
            {props.columns.map((column) => {
              const { label, numeric, hidden } =
                typeof column === "string" ? { label: column } : column;
              return (
                <th key={label} scope="col" class={numeric ? "num" : undefined}>
                  {hidden ? <span class="visually-hidden">{label}</span> : label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
        {props.foot !== undefined && <tfoot>{props.foot}</tfoot>}
      </table>
    </div>
  );
}
