"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";

const items = [{ href: "/connectors", label: "Data connectors" }];

export function SideNav() {
  const pathname = usePathname();
  return (
    <nav aria-label="Main" className="border-line w-56 shrink-0 border-r bg-white py-4">
      <ul>
        {items.map((item) => {
          const current = pathname.startsWith(item.href);
          return (
            <li key={item.href}>
              <Link
                href={item.href}
                aria-current={current ? "page" : undefined}
                className={`block border-l-4 px-4 py-2 ${current ? "border-brand bg-brand-light font-semibold" : "hover:bg-canvas border-transparent"}`}
              >
                {item.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
