import { QueryClientProvider } from "@tanstack/react-query";
import { useState } from "react";
import { BrowserRouter } from "react-router";
import { AppConfigProvider } from "@/lib/app-config";
import { createQueryClient } from "./query-client";
import { AppRoutes } from "./routes";

export function App() {
  const [queryClient] = useState(createQueryClient);
  return (
    <QueryClientProvider client={queryClient}>
      <AppConfigProvider>
        <BrowserRouter>
          <AppRoutes />
        </BrowserRouter>
      </AppConfigProvider>
    </QueryClientProvider>
  );
}
