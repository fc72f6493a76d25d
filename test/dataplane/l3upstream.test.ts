import { trafficSuite } from './traffic';

trafficSuite('l3-upstream');
