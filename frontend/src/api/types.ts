// Names for the generated API types, so that the app reads in the domain's words.
import type { components } from "./generated/api-schema";

type Schemas = components["schemas"];

export type RunDetail = Schemas["RunDetail"];
export type RunList = Schemas["RunList"];
export type RunStatus = Schemas["RunStatus"];
export type RunComplete = Schemas["RunCompleteResponse"];
export type EquityCurve = Schemas["EquityOut"];
export type Order = Schemas["Order"];
export type Indicators = Schemas["IndicatorsResponse"];
export type Trade = Schemas["RoundTripOut"];
export type StrategyInfo = Schemas["StrategyInfo"];
export type SymbolInfo = Schemas["SymbolInfo"];
export type ChartTimeframe = Schemas["ChartTimeframe"];
export type BacktestRequest = Schemas["BacktestRequest"];
export type AppConfig = Schemas["AppConfig"];
export type DataPaths = Schemas["DataPaths"];
/** How an area of the app reaches its data: through the api (`bff`) or straight to the backend (`direct`). */
export type DataPath = DataPaths["charts"];
export type DataArea = keyof DataPaths;
