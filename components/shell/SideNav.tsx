"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useRef } from "react";

const items = [
  { href: "/connectors", label: "Data connectors" },
  { href: "/health", label: "Health" },
];

function NavLinks({ onNavigate }: { onNavigate?: () => void }) {
  const pathname = usePathname();
  return (
    <ul>
      {items.map((item) => {
        const current = pathname.startsWith(item.href);
        return (
          <li key={item.href}>
            <Link
              href={item.href}
              onClick={onNavigate}
              aria-current={current ? "page" : undefined}
              className={`block border-l-4 px-4 py-2 ${current ? "border-brand bg-brand-light font-semibold" : "hover:bg-canvas border-transparent"}`}
            >
              {item.label}
            </Link>
          </li>
        );
      })}
    </ul>
  );
}

/** The side navigation on wide screens. */
export function SideNav() {
  return (
    <nav aria-label="Main" className="border-line hidden w-56 shrink-0 border-r bg-white py-4 md:block">
      <NavLinks />
    </nav>
  );
}

/** The same navigation behind a Menu button on narrow screens, so the page keeps the full width. */
export function MobileNav() {
  const menu = useRef<HTMLDetailsElement>(null);
  return (
    <details ref={menu} className="relative md:hidden">
      <summary className="cursor-pointer list-none rounded border border-white/60 px-3 py-1 text-sm hover:bg-white/10">
        Menu
      </summary>
      <nav
        aria-label="Main"
        className="border-line absolute top-full left-0 z-30 mt-2 w-56 rounded border bg-white py-2 text-gray-900 shadow-lg"
      >
        <NavLinks onNavigate={() => menu.current?.removeAttribute("open")} />
      </nav>
    </details>
  );
}
