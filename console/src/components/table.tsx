import type { ComponentChildren } from "preact";
import { useLayoutEffect, useRef } from "preact/hooks";

/** A column heading: its text, right-aligned figures, or read only by screen readers. */
export interface Column {
  label: string;
  numeric?: boolean;
  hidden?: boolean;
}

/**
 * A table with a sentence in its place when there are no rows, so every list on every page
 * reads the same way. On narrow screens each row folds into a card of "label value" lines
 * (the stylesheet reads each cell's column name from `data-label`), so nothing is cut off or
 * needs sideways scrolling.
 */
export function Table(props: {
  columns: (string | Column)[];
  rowCount: number;
  empty: string;
  caption?: ComponentChildren;
  foot?: ComponentChildren;
  children: ComponentChildren;
}) {
  const table = useRef<HTMLTableElement>(null);
  const labels = props.columns.map((column) =>
    typeof column === "string" ? column : column.hidden ? "" : column.label,
  );
  // Cells come from each page's own rows; their column names are set here, after rendering,
  // walking spans so a footer cell spanning three columns takes the fourth's name after it.
  useLayoutEffect(() => {
    for (const row of table.current?.querySelectorAll("tbody tr, tfoot tr") ?? []) {
      let column = 0;
      for (const cell of row.children) {
        const label = labels[column] ?? "";
        if (label === "" || (cell as HTMLTableCellElement).colSpan > 1) {
          cell.removeAttribute("data-label");
        } else {
          cell.setAttribute("data-label", label);
        }
        column += (cell as HTMLTableCellElement).colSpan;
      }
    }
  });
  if (props.rowCount === 0) return <p>{props.empty}</p>;
  return (
    <div class="scroll">
      <table ref={table}>
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
